"""Credentials the tests use, moved here by testsec-fix.

Fake values, kept in one place so that they are easy to find, to change
and to allow in secret scanners.
"""

TOKEN = "abc-123-token"
