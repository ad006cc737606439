"""The review window. Every PySide6 import lives below here."""
