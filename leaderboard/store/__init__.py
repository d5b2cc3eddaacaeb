"""The leaderboard's store: schema (`schema`), engine and migrations (`database`)."""
