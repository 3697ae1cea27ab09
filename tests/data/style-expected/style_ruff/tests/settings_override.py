from tests import credentials

REDIS_HOST = "localhost"
REDIS_PASSWORD = credentials.REDIS_PASSWORD
