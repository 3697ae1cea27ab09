REDIS_HOST = "localhost"
REDIS_PASSWORD = "s3cret-value"
