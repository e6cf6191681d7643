"""`python -m cli` runs the pingji command line (as the `pingji` console script does)."""

from pingji.cli.main import main

if __name__ == "__main__":
    main()
