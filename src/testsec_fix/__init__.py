"""testsec-fix: find insecure and flaky patterns in Python test suites and rewrite them."""
from .config import Config, load_config
from .engine import fix_source, run
from .model import FileResult, Finding

__version__ = "0.1.0"
__all__ = ["Config", "FileResult", "Finding", "fix_source", "load_config", "run", "__version__"]
