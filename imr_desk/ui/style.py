"""The window's style sheet: the field states the form marks (read, uncertain, warning, changed)."""

STYLE_SHEET = """
QLabel[fieldState="read"] { color: #2f6b3a; }
QLabel[fieldState="uncertain"] { color: #8a5a00; background: #fff1cc; border-radius: 3px; }
QLabel[fieldState="warning"] { color: #a01818; background: #fde0e0; border-radius: 3px; }
QLabel[fieldState="changed"] { color: #1f4f9a; background: #e0ebfc; border-radius: 3px; }
QLabel[fieldState="empty"] { color: #888888; }
QLabel[fieldState="confirmed"] { color: #ffffff; background: #2e7d32; border-radius: 3px; }
QLineEdit[fieldState="confirmed"], QPlainTextEdit[fieldState="confirmed"], QComboBox[fieldState="confirmed"],
QSpinBox[fieldState="confirmed"] {
    background: #f1f8f1;
}
QLabel#confirmCount { color: #2e5d32; padding: 0 0 4px 0; }
QLabel[objectName^="parserValue"] { color: #1f4f9a; font-size: 9pt; padding-left: 2px; }
QLabel[objectName^="fieldError"] { color: #a01818; font-size: 9pt; padding-left: 2px; }
QLineEdit[fieldState="uncertain"], QPlainTextEdit[fieldState="uncertain"],
QComboBox[fieldState="uncertain"], QDateEdit[fieldState="uncertain"], QSpinBox[fieldState="uncertain"] {
    background: #fff8e1;
}
QLineEdit[fieldState="warning"], QPlainTextEdit[fieldState="warning"],
QComboBox[fieldState="warning"], QDateEdit[fieldState="warning"], QSpinBox[fieldState="warning"] {
    background: #fdecec;
}
QLineEdit[focusedField="true"], QPlainTextEdit[focusedField="true"], QComboBox[focusedField="true"],
QDateEdit[focusedField="true"], QSpinBox[focusedField="true"] {
    border: 2px solid #1565c0;
}
QLabel#readOnlyBanner { background: #fff1cc; color: #6b4500; padding: 6px; border: 1px solid #e0b040; }
QLabel#formTitle { font-size: 11pt; padding: 2px 0 4px 0; }
QLabel#toReviewCount { padding: 3px; color: #333333; }
QLabel#findCount[notFound="true"] { color: #a01818; }
QLabel#unusualNote { background: #fff1cc; color: #6b4500; padding: 6px; border: 1px solid #e0b040; }
QLabel#noMatch { color: #555555; padding: 12px; font-size: 11pt; }
QLineEdit[fieldState="refused"] { background: #fdecec; border: 2px solid #c62828; }
"""
