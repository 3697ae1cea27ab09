def ready():
    return True


def login(user, password):
    return bool(user and password)
