"""Shared fixtures."""
import os


HOME = os.getcwd()
