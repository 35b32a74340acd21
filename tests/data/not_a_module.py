class NotAModule:
    def forward(self, x):
        return x
