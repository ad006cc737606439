"""Entry point of the PyInstaller bundle: the same `imr-desk` command as the console script."""

from imr_desk.cli import main

if __name__ == "__main__":
    main()
