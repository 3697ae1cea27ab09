"""TSF102 credential-literal."""
from __future__ import annotations

import ast
import bisect
import fnmatch
import functools
import io
import os
import re
import tokenize
from typing import AbstractSet, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from ..astutil import ast_bindings, match_lines
from ..codemod import Codemod, Context
from ..config import Config
from ..constants import Namer
from ..cstutil import walk
from ..model import Finding, HelperRequest
from ..project import CREDENTIALS_MODULE, OWN_FILE
from ..sparse import statement_lines, units
from ..style import render_constant
from ..suppress import SUPPRESSED
from ..wrap import rewrap, wrap_rows

# Words that make a name a credential's, once the name is split into words.
SECRET_WORDS = {"password", "passwords", "passwd", "pwd", "pass", "passphrase", "secret",
                "secrets", "token", "tokens", "credential", "credentials", "apikey", "psk"}
# "key" is a credential only after one of these ("access_key", "hmac_key").
KEY_QUALIFIERS = {"api", "access", "secret", "private", "hmac", "encryption", "auth",
                  "signing", "master", "shared", "session", "client", "root", "fixed"}
# Words after a credential word that say what form the secret takes, not what else it is.
VALUE_WORDS = {"value", "values", "data", "string", "str", "text", "bytes", "material",
               "plain", "plaintext", "raw", "hex", "b64", "base64"}
# Assertions whose two arguments are compared.
COMPARING = {"assertEqual", "assertEquals", "assertNotEqual", "assertIs", "assertIsNot"}
_CLASS_NAME = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$")
KEY_WORDS = {"key", "keys"}
# A name that is about a public or identifying part is not a secret's.
NOT_SECRET_WORDS = {"public", "pub", "keypair", "keypairs"}


class Screen:
    """Does a text (or line) hold a possible credential site: a credential-ish word right
    before a quote, a colon, ``=`` or a comparison; a comparison right before one; a URL
    with a password; a PEM private key? A literal scan first (fast), then a small anchored
    check at each hit."""

    WORD = re.compile("pass|pwd|secret|token|key|credential", re.I)

    def __init__(self, words: Tuple[str, ...] = (), ignore: Tuple[str, ...] = ()) -> None:
        if words:
            self.WORD = re.compile("|".join([Screen.WORD.pattern]
                                            + [re.escape(w) for w in words]), re.I)
        self.words, self.ignore = words, ignore
        # Where ``search`` can pass at all: a word, a URL, a key block (found in one scan).
        self.hint = re.compile(self.WORD.pattern + "|://|PRIVATE KEY-----", re.I)
    AFTER = re.compile(r"\w*['\"]?\]?\s*(?::|==|!=|=)")
    BEFORE = re.compile(r"(?:==|!=)\s*[\w.\[\]'\"]*$")

    IDENT = re.compile(r"\w*")
    HEAD = re.compile(r"\w*\Z")

    def lines(self, text: str, lines: List[str]) -> Set[int]:
        """The numbers of the lines (``text`` split in ``lines``) ``search`` passes."""
        return {n for n in match_lines(self.hint, text) if self.search(lines[n - 1])}

    def search(self, text: str) -> bool:
        if "PRIVATE KEY-----" in text or url_password(text) is not None:
            return True
        for match in self.WORD.finditer(text):
            end = self.IDENT.match(text, match.end()).end()  # type: ignore[union-attr]
            line = text.rfind("\n", 0, match.start()) + 1
            if not self.AFTER.match(text, end) and not (
                    text.find("=", line, match.start()) >= 0
                    and self.BEFORE.search(text, line, match.start())):
                continue  # most hits: no assignment or comparison next to the name
            head = self.HEAD.search(text, line, match.start())
            start = head.start() if head else match.start()
            if is_credential_name(text[start:end], self.words, self.ignore):
                return True
        return False


def name_words(name: str) -> List[str]:
    """``adminPass`` -> [admin, pass]; ``X_AUTH_TOKEN`` -> [x, auth, token]."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    return [p.lower() for p in parts]


def is_credential_name(name: str, extra: Tuple[str, ...] = (),
                       ignore: Tuple[str, ...] = ()) -> bool:
    """A credential word, and nothing after it that describes it (``secret_uuid``,
    ``token_type``, ``key_name`` and ``password_field`` name something else). ``extra``:
    more credential words; ``ignore``: names (glob patterns) that are never credentials."""
    words = name_words(name)
    if not words or NOT_SECRET_WORDS.intersection(words) or _CLASS_NAME.match(name):
        return False  # a class name (``ConsoleAuthToken``) names no secret
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in ignore):
        return False
    last = len(words) - 1
    for k, word in enumerate(words):
        secret = word in SECRET_WORDS or word in extra or (
            word in KEY_WORDS and k > 0 and words[k - 1] in KEY_QUALIFIERS)
        if secret:
            rest = words[k + 1:]
            return k == last or all(w in SECRET_WORDS | KEY_WORDS | VALUE_WORDS or w in extra
                                    or w.isdigit() for w in rest)
    return False


_TEMPLATE = re.compile(r"%\(\w+\)[sd]|\{\w*\}|\$\{?\w+|<\w+>")
_REGEX = re.compile(r"^\^|\$$|\.\*|\\[dwsDWS]|\[[^\]]+\]|\(\?")
_MASK = re.compile(r"^[*xX#.•-]+$")
_PATH = re.compile(r"^(?:/[\w.-]+)+/?$")  # '/certs/keyfile': where a key is, not the key
_USERINFO = re.compile(r"[^/\s:@'\"]+:([^/\s@'\"]+)@")


def url_password(text: str) -> Optional[str]:
    """The password of the first ``scheme://user:password@`` in ``text``, if any."""
    at = text.find("://")
    while at >= 0:
        match = _USERINFO.match(text, at + 3)
        if match and at > 0 and text[at - 1].isalnum():
            return match.group(1)
        at = text.find("://", at + 3)
    return None
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def is_credential_value(value: str) -> bool:
    """A value that can be a secret: not empty, a mask, a template, a regular expression
    or an absolute file path."""
    stripped = value.strip()
    return bool(stripped) and not _MASK.match(stripped) and not _TEMPLATE.search(stripped) \
        and not _REGEX.search(stripped) and not _PATH.match(stripped)


def _name_of(node: ast.AST) -> Optional[str]:
    """The name a value is bound to: a variable, attribute, or a constant subscript key."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
            isinstance(node.slice.value, str):
        return node.slice.value
    return None


def _string(node: Optional[ast.AST]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def credential_sites(tree: ast.AST, extra: Tuple[str, ...] = (), ignore: Tuple[str, ...] = ()
                     ) -> Iterator[Tuple[ast.AST, str, str]]:
    """(node of the literal, the name it is bound to, the literal) for each site."""
    for node in ast.walk(tree):
        pairs: List[Tuple[Optional[str], Optional[ast.AST]]] = []
        if isinstance(node, ast.Call):
            pairs = [(k.arg, k.value) for k in node.keywords if k.arg]
        elif isinstance(node, ast.Assign):
            pairs = [(_name_of(t), node.value) for t in node.targets]
        elif isinstance(node, ast.AnnAssign):
            pairs = [(_name_of(node.target), node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [(_string(k), v) for k, v in zip(node.keys, node.values)]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = [(a.arg, d) for a, d in zip(positional[len(positional)
                                                           - len(args.defaults):],
                                                  args.defaults)]
            pairs += [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d]
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1 and \
                isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            left, right = node.left, node.comparators[0]
            pairs = [(_name_of(left), right), (_name_of(right), left)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in COMPARING and len(node.args) >= 2:
            first, second = node.args[:2]
            pairs += [(_name_of(second), first), (_name_of(first), second)]
        for name, value in pairs:
            literal = _string(value)
            if name and literal is not None and is_credential_name(name, extra, ignore) and \
                    is_credential_value(literal):
                yield value, name, literal  # type: ignore[misc]
        literal = _string(node)
        if literal is not None:
            password = url_password(literal)
            if password is not None and is_credential_value(password):
                yield node, "url", literal
            elif _PEM.search(literal) and "-----END" in literal and \
                    is_credential_value(literal):
                yield node, "private key", literal


# -- the rewrite ------------------------------------------------------------------------------

# Words that say nothing of what a value is: a literal bound to a name made of these as well as
# to a credential's (``expected = 'pw'``) is still the credential; bound to a name with another
# word (``image_ref='None'``, ``'qos_specs': 'bar'``, ``public_key=``), it is something else too.
NEUTRAL_WORDS = {"expected", "expect", "actual", "result", "results", "ret", "res", "retval",
                 "val", "value", "values", "data", "body", "resp", "response", "fake", "new",
                 "old", "orig", "original", "test", "my", "x", "v", "got", "want", "wanted",
                 "arg", "args", "param", "params", "input", "output", "out", "string", "str",
                 "text", "sample", "example", "default", "other", "dummy", "some", "the", "a"}
_GETATTR = {"getattr", "setattr", "hasattr", "delattr"}
_IDENTITY_ASSERTS = {"assertIs", "assertIsNot"}
MODULE_DOC = ("Credentials the tests use, moved here by testsec-fix.\n\n"
              "Fake values, kept in one place so that they are easy to find, to change\n"
              "and to allow in secret scanners.\n")


class _Use:
    """One literal in the file that is not a docstring: where it is and what role it has."""

    __slots__ = ("node", "role", "name")

    def __init__(self, node: ast.Constant, role: str, name: str = "") -> None:
        self.node, self.role, self.name = node, role, name


def _uses(nodes: List[ast.AST]) -> Tuple[List[_Use], List[Tuple[ast.AST, str]]]:
    """The string constants of the file (all its ``nodes``; docstrings left out), each with
    its role, and the larger strings (f-string parts, bytes) a value may hide in."""
    roles: Dict[int, Tuple[str, str]] = {}
    skip: set = set()
    hidden: List[Tuple[ast.AST, str]] = []
    for node in nodes:
        if type(node) not in _ROLE_GIVERS:
            continue  # (most nodes: names, attributes, contexts)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.Constant):
                    skip.add(id(part))
                    hidden.append((part, part.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            hidden.append((node, node.value.decode("latin-1")))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                roles[id(key)] = ("key", "")
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    roles.setdefault(id(value), ("bound", key.value))
        elif isinstance(node, ast.Subscript):
            roles[id(node.slice)] = ("key", "")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else ""
            if called in _GETATTR and len(node.args) >= 2:
                roles[id(node.args[1])] = ("key", "")
            if called in _IDENTITY_ASSERTS:
                roles.update({id(a): ("identity", "") for a in node.args})
            for keyword in node.keywords:
                if keyword.arg:
                    roles.setdefault(id(keyword.value), ("bound", keyword.arg))
        elif isinstance(node, ast.Compare):
            operands = [node.left] + node.comparators
            for k, op in enumerate(node.ops):
                if isinstance(op, (ast.Is, ast.IsNot)):
                    roles[id(operands[k])] = roles[id(operands[k + 1])] = ("identity", "")
                elif isinstance(op, (ast.In, ast.NotIn)):
                    roles[id(operands[k])] = ("key", "")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = _name_of(target)
                if name and node.value is not None:
                    roles.setdefault(id(node.value), ("bound", name))
        if isinstance(node, ast.AnnAssign) or isinstance(node, ast.arg):
            for sub in ast.walk(node.annotation) if node.annotation else ():
                roles[id(sub)] = ("annotation", "")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            for sub in ast.walk(node.returns):
                roles[id(sub)] = ("annotation", "")
    uses = [_Use(node, *roles.get(id(node), ("value", ""))) for node in nodes
            if type(node) is ast.Constant and isinstance(node.value, str)
            and id(node) not in skip]
    return uses, hidden


# The kinds of node ``_uses`` reads (the tree comes from ``ast.parse``: exact types).
_ROLE_GIVERS = frozenset({ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef,
                          ast.JoinedStr, ast.Constant, ast.Dict, ast.Subscript, ast.Call,
                          ast.Compare, ast.Assign, ast.AnnAssign, ast.arg})


def constant_name(name: str, value: str) -> str:
    """``adminPass`` -> ``ADMIN_PASS``; a URL's credential is named by its scheme."""
    if name == "url":
        words = name_words(value.split("://", 1)[0]) + ["url"]
    elif name == "private key":
        words = ["private", "key"]
    else:
        words = name_words(name)
    joined = "_".join(words).upper() or "CREDENTIAL"
    return joined if joined[0].isalpha() else "CREDENTIAL_" + joined


def _bounded(value: str) -> "re.Pattern[str]":
    return re.compile(r"(?<!\w)%s(?!\w)" % re.escape(value))


_WORD = re.compile(r"\w+")


class _Larger:
    """The strings a value may hide in: the larger strings (f-string parts, bytes), then
    the file's string constants; indexed by the words they hold, so that finding one that
    holds a value reads only those sharing its rarest word (a value found as a whole word
    run, ``_bounded``, has each of its words whole in that string too)."""

    def __init__(self, hidden: List[Tuple[ast.AST, str]], uses: List[_Use]) -> None:
        self.texts = [(node, text, False) for node, text in hidden] + \
            [(use.node, use.node.value, True) for use in uses]
        self.words: Dict[str, List[int]] = {}
        for k, (_, text, _) in enumerate(self.texts):
            for word in set(_WORD.findall(text)):
                self.words.setdefault(word, []).append(k)

    def holding(self, value: str,
                moving: AbstractSet[str] = frozenset()) -> Optional[ast.AST]:
        """The first node whose string holds ``value`` as a whole and is not one of its
        own uses, nor a use of a value in ``moving`` (those all become a constant); None if
        none does."""
        words = set(_WORD.findall(value))
        candidates = min((self.words.get(w, []) for w in words), key=len) if words \
            else range(len(self.texts))
        pattern = _bounded(value)
        for k in candidates:
            node, text, use = self.texts[k]
            if not (use and (text == value or text in moving)) and pattern.search(text):
                return node
        return None


class _Replace(cst.CSTTransformer):
    """Each literal whose value is a key of ``refs`` becomes that reference (docstrings,
    annotations and the parts of larger strings are left alone)."""

    def __init__(self, refs: Dict[str, str]) -> None:
        super().__init__()
        self.refs = refs
        self.swapped = 0  # literals replaced
        self.quotes: Dict[str, str] = {}  # value -> the quote it was first written with

    def visit_Expr(self, node: cst.Expr) -> bool:
        return not isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))

    def visit_Annotation(self, node: cst.Annotation) -> bool:
        return False

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        return False  # replaced whole (below) or not at all

    def leave_ConcatenatedString(self, original: cst.ConcatenatedString,
                                 updated: cst.ConcatenatedString) -> cst.BaseExpression:
        return self._swap(original, updated)

    def leave_SimpleString(self, original: cst.SimpleString,
                           updated: cst.SimpleString) -> cst.BaseExpression:
        return self._swap(original, updated)

    def _swap(self, original, updated) -> cst.BaseExpression:
        try:
            value = original.evaluated_value
        except Exception:  # a part that is an f-string, or a mix of bytes and str
            return updated
        if not isinstance(value, str) or value not in self.refs:
            return updated
        head, _, attr = self.refs[value].partition(".")
        self.swapped += 1
        first = original if isinstance(original, cst.SimpleString) else next(
            (n for n in walk(original) if isinstance(n, cst.SimpleString)), None)
        if first is not None and len(first.quote) == 1:
            self.quotes.setdefault(value, first.quote)
        parens = [cst.Module([]).code_for_node(p) for p in (*updated.lpar, *updated.rpar)]
        keep = any("#" in p for p in parens)  # a comment in them; else they are not needed
        parens = dict(lpar=updated.lpar if keep else (), rpar=updated.rpar if keep else ())
        if not attr:  # a constant of this very file
            return cst.Name(head, **parens)
        return cst.Attribute(cst.Name(head), cst.Name(attr), **parens)


class CredentialLiteral(Codemod):
    """Literal credentials in test code: passwords, tokens, keys and secrets written inline.

    ## What it does
    Finds string literals that play the role of a credential in test code: bound to a name
    whose words (split at ``_`` and camelCase) include a credential word (``password``,
    ``pass``, ``pwd``, ``passphrase``, ``secret``, ``token``, ``credential``, ``apikey``,
    or ``key`` after ``api``, ``access``, ``secret``, ``private``, ``hmac``, ...), as a
    keyword argument, an assignment (to a name, attribute or subscript such as
    ``req.headers['X_AUTH_TOKEN']``), a dict entry, a default argument or a comparison;
    credentials inside URLs (``scheme://user:pass@host``); PEM private key blocks.

    Not credentials: names where a word after the credential word says what it is
    (``secret_uuid``, ``token_type``, ``key_name``, ``password_field``), public keys and
    keypairs, and values that are empty, masks (``'***'``), templates (``'%(password)s'``,
    ``'{password}'``) or regular expressions. So ``adminPass`` and ``access_key`` are found,
    which bandit, ruff and detect-secrets all miss. More words: ``credential-words``; names
    that are never credentials: ``credential-ignore`` (glob patterns), in
    ``[tool.testsec-fix]``.

    The fix moves each literal into the project's credentials module
    (``<pkg>.tests.fixtures.credentials`` when the fixtures are a package, else the fixtures
    module; ``credentials-module`` to choose) as a constant named after the first name it
    is bound to (``adminPass`` -> ``ADMIN_PASS``; ``ADMIN_PASS_2`` for a second value), and
    replaces every use of the same literal in the file with it, assertions and mock checks
    included.

    ## Why is this bad?
    A credential written inline is copied from test to test, trains readers to paste real
    secrets the same way, and makes every secret scanner on the repository noisy, so real
    leaks drown. Kept in one fixtures module, test credentials are easy to find, to allow
    in scanners, and to change.

    ## Example
    ```python
    from myapp import test


    class ServerActionsTest(test.TestCase):

        def test_rebuild(self):
            body = {'rebuild': {'adminPass': 'MySecretPass'}}
            resp = self.api.post_server_action(self.server['id'], body)
            self.assertEqual('MySecretPass', resp['adminPass'])
    ```

    ## Use instead
    ```python
    from myapp import test

    from tests.fixtures import credentials


    class ServerActionsTest(test.TestCase):

        def test_rebuild(self):
            body = {'rebuild': {'adminPass': credentials.ADMIN_PASS}}
            resp = self.api.post_server_action(self.server['id'], body)
            self.assertEqual(credentials.ADMIN_PASS, resp['adminPass'])
    ```
    with ``ADMIN_PASS = 'MySecretPass'`` added to ``tests/fixtures/credentials.py``.

    ## Fix safety
    Safe: the constant keeps the literal's value, so every comparison, mock check and
    message stays as it was, even one the fix could not see. (A sentinel that makes up a
    new value per name, in the style of ``oslo_utils.fixture.uuidsentinel``, would not: the
    same value is often expected in a template or a data file next to the test.) A literal
    is left alone, with the reason, when a use of its value cannot follow: inside a larger
    string or an f-string, in a template or data file next to the test (such as Nova's API
    samples), used as a dict key, subscript or attribute name, also bound to a name that is
    not a credential's (``username='admin', password='admin'``; ``image_ref='None'``; a
    name made only of words such as ``expected`` or ``result`` does not count), compared by
    identity, or when a line would grow past the line length limit and has no place to
    break. A line that grows too long is broken inside its brackets, after a comma or an
    opening bracket, or has its short call made hanging, indented as pycodestyle wants
    (``testsec_fix.wrap``); the breaks change no token.
    """

    code = "TSF102"
    name = "credential-literal"
    safe = True
    fixable = True
    trigger = Screen()

    @classmethod
    def screen(cls, text: str, config: Config) -> bool:
        return _screen(*_vocabulary(config)).search(text)

    def check(self, tree: ast.Module, ctx: Context) -> None:
        self.refs: Dict[str, str] = {}
        self.sites: List[Tuple[ast.AST, str]] = []
        self.keep: Set[ast.stmt] = set()
        self.wraps = False
        self.imported = False  # the file imports the credentials module already
        extra, ignore = _vocabulary(ctx.config)
        screen = _screen(extra, ignore)
        # Only statements with a candidate line are walked.
        lines = screen.lines(ctx.text, ctx.lines)
        seen = set()
        module = ctx.project.fixtures_module(ctx.path, CREDENTIALS_MODULE) or \
            ctx.config.credentials_module
        self.defined: Dict[str, str] = {}  # own file: value -> the constant defining it
        if module and module.startswith(OWN_FILE):
            # A file holding its own constants: their definitions (``NAME = 'value'`` at its
            # top level, named as constants are) are where they belong.
            for n in tree.body:
                if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(
                        n.targets[0], ast.Name) and n.targets[0].id.isupper() and isinstance(
                        n.value, ast.Constant) and isinstance(n.value.value, str):
                    seen.add((n.value.lineno, n.value.col_offset))
                    self.defined.setdefault(n.value.value, n.targets[0].id)
        by_value: Dict[str, List[Tuple[ast.AST, str]]] = {}
        for node, name, literal in (site for unit in units(tree)
                                    if lines.intersection(statement_lines(unit))
                                    for site in credential_sites(unit, extra, ignore)):
            where = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
            if where in seen:
                continue
            seen.add(where)
            by_value.setdefault(literal, []).append((node, name))
        if not by_value:
            return
        if module and ctx.project.is_module(ctx.path, module) and \
                not module.startswith(OWN_FILE):
            return  # the credentials module: where they belong
        plan = self.refs = self._plan(tree, ctx, module, by_value) if module else {}
        for value, sites in by_value.items():
            for node, name in sites:
                if ctx.suppressed(node):
                    ctx.report_at(node, f"literal credential in test code ({name})",
                                  SUPPRESSED)
                elif value in plan:
                    self.sites.append((node, name))
                else:
                    reason = self.declined.get(value) if module else (
                        "no credentials module: set credentials-module (or fixtures-module) "
                        "in [tool.testsec-fix]")
                    ctx.report_at(node, f"literal credential in test code ({name})",
                                  reason or "left alone")

    def _plan(self, tree: ast.Module, ctx: Context, module: str,
              by_value: Dict[str, List[Tuple[ast.AST, str]]]) -> Dict[str, str]:
        """value -> the reference that replaces it (``credentials.ADMIN_PASS``); the values
        left alone get their reason in ``self.declined``."""
        self.declined: Dict[str, str] = {}
        uses, hidden = _uses(ctx.nodes)
        self.units = _Units(tree)
        alias = self._alias(tree, ctx, module)
        if alias is None:
            self.declined.update((v, "the name 'credentials' is taken in this file")
                                 for v in by_value)
            return {}
        by_use: Dict[str, List[_Use]] = {}
        for use in uses:
            by_use.setdefault(use.node.value, []).append(use)
        if module.startswith(OWN_FILE):  # new names only, none the file uses
            existing = dict.fromkeys(ctx.names, "")
            self.declined.update(
                (v, f"the file binds {self.defined[v]} to this value already: use it")
                for v in by_value if v in self.defined)
            by_value = {v: s for v, s in by_value.items() if v not in self.defined}
        else:
            existing = ctx.project.constants(module)
        last_import = max((n.end_lineno or n.lineno for n in tree.body
                           if isinstance(n, (ast.Import, ast.ImportFrom))), default=0)
        # A value inside a larger string that moves too is free once that string has moved:
        # settled here, so that a second run has nothing left to do. Start from every value
        # moving; drop the declined ones until nothing changes (the set only shrinks).
        checks = {value: self._why_not(ctx, value, by_use.get(value, []), last_import)
                  for value in by_value}
        larger = _Larger(hidden, uses)
        strings = set(by_use)
        near: Dict[str, Optional[str]] = {}  # the data-file check, once per value

        def inside_larger(value: str, moving: Set[str]) -> Optional[str]:
            node = larger.holding(value, moving)
            return None if node is None else (
                f"its value is also inside a larger string (line {node.lineno}), "  # type: ignore[attr-defined]
                "which the fix cannot follow")

        def data_files(value: str) -> Optional[str]:
            if value not in near:
                near[value] = self._why_not_near(ctx, value, strings)
            return near[value]

        moving = set(by_value)
        while True:
            reasons = {value: before or inside_larger(value, moving) or data_files(value)
                       for value, before in checks.items()}
            still = {value for value, reason in reasons.items() if not reason}
            if still == moving:
                break
            moving = still
        kept = {}
        for value, sites in by_value.items():
            if reasons[value]:
                self.declined[value] = reasons[value]
            else:
                kept[value] = sites
        plan = self._names(kept, existing, alias)
        if self._too_long(ctx, tree, plan, by_use):
            plan = self._names({v: s for v, s in kept.items() if v in plan}, existing, alias)
        self.new = {ref.rpartition(".")[2]: value for value, ref in plan.items()
                    if existing.get(ref.rpartition(".")[2]) != value}
        self.module, self.alias = module, alias
        for value in plan:
            for use in by_use[value]:
                self.keep.add(self.units.of(use.node))
        return plan

    @staticmethod
    def _names(kept: Dict[str, List[Tuple[ast.AST, str]]], existing: Dict[str, str],
               alias: str) -> Dict[str, str]:
        """value -> reference: an existing constant of that value, or a new name (after the
        first name the value is bound to; ``_2``, ``_3`` when taken by another value)."""
        namer = Namer(existing)
        prefix = f"{alias}." if alias else ""  # (none for a file's own constants)
        return {value: prefix + namer.name(value, constant_name(sites[0][1], value))
                for value, sites in kept.items()}

    def _alias(self, tree: ast.Module, ctx: Context, module: str) -> Optional[str]:
        """The name the module is (or will be) imported as: its module-level import, or its
        leaf if the file binds or reads that name nowhere (a parameter, a nested import...);
        '' where the constants live in this very file (referred to by their bare names)."""
        if module.startswith(OWN_FILE):
            self.imported = True  # nothing to import
            return ""
        for bound, path in ast_bindings(tree).items():
            if path == module:
                self.imported = True
                return bound
        used = ctx.names
        leaf = module.rpartition(".")[2]
        return next((n for n in (leaf, f"fake_{leaf}") if n not in used), None)

    def _why_not(self, ctx: Context, value: str, mine: List[_Use],
                 last_import: int) -> Optional[str]:
        """Why ``value`` (whose uses are ``mine``) may not move, from its own uses; then
        come the larger strings (which depend on what else moves) and the data files next to
        the test (``_why_not_near``)."""
        # A URL or a PEM block holds a credential; the names it is bound to say what it is.
        container = url_password(value) is not None or bool(_PEM.search(value))
        for use in mine:
            line = use.node.lineno
            if ctx.suppressed(use.node):
                return (f"a use of its value is covered by a '# testsec: ignore' comment "
                        f"(line {line})")  # so every use of it stays
            if use.role == "key":
                return f"its value is also used as a key or attribute name (line {line})"
            if use.role == "identity":
                return f"its value is compared by identity (line {line})"
            if use.role == "annotation":
                return f"its value is also in an annotation (line {line})"
            if use.role == "bound" and not container and not is_credential_name(
                    use.name, *_vocabulary(ctx.config)) and not all(
                    w in NEUTRAL_WORDS or w.isdigit() for w in name_words(use.name)):
                return (f"its value is also the value of {use.name!r} (line {line}), which "
                        "is not a credential")
            # Above the last import only a function's body may use it (it runs later);
            # its defaults and decorators run with the module.
            unit = self.units.of(use.node, top=True)
            later = isinstance(unit, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                line >= statement_lines(unit.body[0]).start
            if line <= last_import and not later:
                return f"its value is used before the imports end (line {line})"
        for use in mine:
            if use.node.end_lineno != use.node.lineno and _has_comment(ctx, use.node):
                return f"a comment inside the literal (line {use.node.lineno}) would be lost"
        return None

    def _why_not_near(self, ctx: Context, value: str, strings: Set[str]) -> Optional[str]:
        """The value in a data file next to the test, which the fix cannot follow.
        ``strings``: every string constant's value in the file."""
        files = [f for f in ctx.project.data_files_with(ctx.path, value)
                 if self._read_by_test(ctx, f, strings)]
        if files:
            where = os.path.relpath(files[0], os.path.dirname(os.path.abspath(ctx.path)))
            more = f" and {len(files) - 1} more" if len(files) > 1 else ""
            return (f"its value is also in {where}{more} next to the test (a template or "
                    "data file the fix cannot follow)")
        return None

    @staticmethod
    def _read_by_test(ctx: Context, file: str, strings: Set[str]) -> bool:
        """Whether the test may read a data file below its folder: one in its own folder, or
        one whose name (without extensions) or folder the test names in a string (Nova's
        API samples: ``sample_dir = 'os-evacuate'``, ``'server-evacuate-req'``)."""
        parts = os.path.relpath(file, os.path.dirname(os.path.abspath(ctx.path))).split(os.sep)
        if len(parts) == 1:
            return True
        named = set(parts[:-1]) | {parts[-1].split(".", 1)[0]}
        return not named.isdisjoint(strings)

    def _too_long(self, ctx: Context, tree: ast.Module, plan: Dict[str, str],
                  by_use: Dict[str, List[_Use]]) -> bool:
        """Leave alone the values whose replacement would make a line too long (longer than
        the limit and than it was) and that line cannot be broken (``wrap``); whether any
        was. The statements are checked in order; a value left alone has the statements
        holding its uses checked again, from the first of them on."""
        lines = [line.rstrip("\r\n") for line in ctx.lines]
        limit = ctx.config.max_line_length
        edits: Dict[ast.stmt, List[Tuple[ast.Constant, str]]] = {}
        on_line: Dict[int, List[str]] = {}  # line: the values used there, in plan order
        for value, ref in plan.items():
            for use in by_use[value]:
                edits.setdefault(self.units.of(use.node), []).append((use.node, ref))
                on_line.setdefault(use.node.lineno, []).append(value)
        order = sorted(edits, key=lambda u: u.lineno)
        place = {unit: k for k, unit in enumerate(order)}
        # A statement's edits: its first line too long with no place to break (number,
        # length), and whether a line of it needs breaking.
        checked: Dict[ast.stmt, Tuple[Optional[Tuple[int, int]], bool]] = {}
        dropped = False
        k = 0  # the statements before the k-th are checked and fit
        while k < len(order):
            unit = order[k]
            if unit in edits and unit not in checked:
                checked[unit] = self._unwrappable(ctx, lines, statement_lines(unit),
                                                  edits[unit], limit)
            over = checked[unit][0] if unit in edits else None
            if over is None:
                k += 1
                continue
            number, size = over
            value = next(v for v in on_line[number] if v in plan)
            del plan[value]
            dropped = True
            self.declined[value] = (f"line {number} would be {size} characters long "
                                    f"(more than {limit}) with no place to break it")
            gone = {id(use.node) for use in by_use[value]}
            for unit in {self.units.of(use.node) for use in by_use[value]}:
                edits[unit] = [e for e in edits[unit] if id(e[0]) not in gone]
                if not edits[unit]:
                    del edits[unit]
                checked.pop(unit, None)
                k = min(k, place[unit])
        self.wraps = any(checked[unit][1] for unit in edits)  # a line of the plan breaks
        return dropped

    def _unwrappable(self, ctx: Context, lines: List[str], span: range,
                     edits: List[Tuple[ast.Constant, str]],
                     limit: int) -> Tuple[Optional[Tuple[int, int]], bool]:
        """The first line of a statement (``span``) that the replacements (``edits``) make
        too long, and that cannot be broken: its number and new length (else ``None``); and
        whether a line needs breaking. The edits are made from the last up, so the rows
        above each keep their place; a literal over several rows joins them into one, and
        the rows below move up."""
        rows = lines[span.start - 1:span.stop - 1]
        grown: Dict[int, int] = {}  # index in rows -> number of the line an edit lands on
        for node, ref in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset),
                                reverse=True):
            first, last = node.lineno, node.end_lineno or node.lineno
            start = ctx.column(first, node.col_offset)
            end = ctx.column(last, node.end_col_offset or 0)
            i, j = first - span.start, last - span.start
            rows[i:j + 1] = [rows[i][:start] + ref + rows[j][end:]]
            grown = {(k - (j - i) if k > i else k): n for k, n in grown.items()}
            grown[i] = first
        wraps = False
        for i, number in sorted(grown.items(), reverse=True):
            if len(rows[i]) > limit and len(rows[i]) > len(lines[number - 1]):
                wrapped = wrap_rows(rows, i, limit)
                if wrapped is None:
                    return (number, len(rows[i])), wraps
                rows, wraps = wrapped, True
        return None, wraps

    def regions(self, tree: ast.Module, ctx: Context):
        return self.keep  # the statements holding a use of a value that moves

    def transform(self, module: cst.Module, ctx: Context) -> cst.Module:
        replace = _Replace(self.refs)
        new = module.visit(replace)
        if not replace.swapped:
            return module
        if self.wraps:  # a line the fix makes too long, broken as planned (_too_long)
            code = new.code
            wrapped = rewrap(code, module.code, ctx.config.max_line_length,
                             module.default_newline)
            if wrapped != code:
                new = cst.parse_module(wrapped)
        parent, _, leaf = self.module.rpartition(".")
        if not self.imported:
            ctx.add_import(parent, leaf, self.alias if self.alias != leaf else "") if parent \
                else ctx.add_import(self.module, "", self.alias if self.alias != leaf else "")
        for name, value in self.new.items():
            # In the project's quotes, else in the literal's own (the helper module settles
            # one quote for all its constants: engine.helper_module).
            quote = ctx.config.style.quote or replace.quotes.get(value, "")
            ctx.require_helper(HelperRequest(
                self.module, name,
                render_constant(name, value, ctx.config.max_line_length, quote),
                value=value, doc=MODULE_DOC))
        for node, name in self.sites:
            ctx.findings.append(Finding(self.code, node.lineno,
                                        ctx.column(node.lineno, node.col_offset),
                                        f"literal credential in test code ({name})", True))
        return new


def _vocabulary(config: Config) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    return tuple(w.lower() for w in config.credential_words), config.credential_ignore


@functools.lru_cache(maxsize=8)
def _screen(words: Tuple[str, ...], ignore: Tuple[str, ...]) -> Screen:
    """The screen for a vocabulary (made once, not per file)."""
    return Screen(words, ignore)


class _Units:
    """The statement of a file holding a node, found by its line (bisected, not searched:
    a big file asks for thousands)."""

    def __init__(self, tree: ast.Module) -> None:
        self.top = self._spans(tree.body)
        self.inner: Dict[ast.ClassDef, Tuple[List[int], List[Tuple[range, ast.stmt]]]] = {}

    @staticmethod
    def _spans(body: List[ast.stmt]) -> Tuple[List[int], List[Tuple[range, ast.stmt]]]:
        spans = [(statement_lines(stmt), stmt) for stmt in body]
        return [span.start for span, _ in spans], spans

    @staticmethod
    def _find(found: Tuple[List[int], List[Tuple[range, ast.stmt]]],
              line: int) -> Optional[ast.stmt]:
        """The first statement whose lines hold ``line`` (statements on one line, ``a = 1;
        b = 2``, share it: the first is taken)."""
        starts, spans = found
        k = bisect.bisect_right(starts, line) - 1
        while k > 0 and line in spans[k - 1][0]:
            k -= 1
        return spans[k][1] if k >= 0 and line in spans[k][0] else None

    def of(self, node: ast.AST, top: bool = False) -> ast.stmt:
        """The top-level statement holding ``node``, or the statement of a top-level class
        body holding it (unless ``top``)."""
        line = node.lineno  # type: ignore[attr-defined]
        stmt = self._find(self.top, line)
        if stmt is None:
            raise LookupError(line)
        if isinstance(stmt, ast.ClassDef) and not top:
            if stmt not in self.inner:
                self.inner[stmt] = self._spans(stmt.body)
            return self._find(self.inner[stmt], line) or stmt
        return stmt


def _has_comment(ctx: Context, node: ast.AST) -> bool:
    """Whether a literal written over several lines has a comment between its parts."""
    lines = ctx.lines
    first, last = node.lineno, node.end_lineno  # type: ignore[attr-defined]
    start = ctx.column(first, node.col_offset)  # type: ignore[attr-defined]
    end = ctx.column(last, node.end_col_offset)  # type: ignore[attr-defined]
    piece = "".join(lines[first - 1:last])
    piece = piece[start:len(piece) - len(lines[last - 1]) + end]
    try:
        return any(tok.type == tokenize.COMMENT for tok in
                   tokenize.generate_tokens(io.StringIO("(" + piece + ")").readline))
    except (tokenize.TokenError, SyntaxError):
        return True
