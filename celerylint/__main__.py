"""``python -m celerylint`` runs the same command line as the ``celerylint`` script."""

from celerylint.cli import main

if __name__ == "__main__":
    main()
