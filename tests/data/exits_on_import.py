import sys

sys.exit(3)


class Net:
    pass
