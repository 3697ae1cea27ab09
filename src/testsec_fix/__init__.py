"""testsec-fix: find insecure and flaky patterns in Python test suites and rewrite them."""
__version__ = "0.1.0"

from .config import Config, load_config  # noqa: E402
from .engine import fix_source, run  # noqa: E402
from .model import FileResult, Finding  # noqa: E402

__all__ = ["Config", "FileResult", "Finding", "fix_source", "load_config", "run", "__version__"]
