"""``python -m rolegate``: the same command as the ``rolegate`` script."""
from rolegate.cli import main

if __name__ == "__main__":
    main()
