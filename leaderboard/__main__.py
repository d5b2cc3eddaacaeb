from leaderboard.cli import main

raise SystemExit(main())
