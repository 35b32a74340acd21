while True:
    pass


class Net:
    pass
