"""The SQLite review database (sqlite-utils). No Qt here."""
