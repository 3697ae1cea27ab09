"""Credentials the tests use, moved here by testsec-fix.

Fake values, kept in one place so that they are easy to find, to change
and to allow in secret scanners.
"""

PASSWORD = "open-sesame"
API_TOKEN = "tok-123"
