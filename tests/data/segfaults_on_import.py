import ctypes

ctypes.string_at(0)


class Net:
    pass
