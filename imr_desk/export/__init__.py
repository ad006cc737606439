"""Writers for reviewed sets (CSV, JSON Lines, Excel, SQLite). No Qt here."""
