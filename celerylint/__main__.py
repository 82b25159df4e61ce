"""``python -m celerylint`` runs the same command line as the ``celerylint`` script."""

from celerylint.cli import console

if __name__ == "__main__":
    console()
