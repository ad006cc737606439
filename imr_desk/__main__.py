from imr_desk.cli import main

if __name__ == "__main__":
    main()
