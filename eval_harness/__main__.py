from eval_harness.cli import main

raise SystemExit(main())
