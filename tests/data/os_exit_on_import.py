import os

os._exit(3)


class Net:
    pass
