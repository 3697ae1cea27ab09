"""TSF102 credential-literal."""
from __future__ import annotations

import ast
import re
from typing import Iterator, List, Optional, Tuple

from ..codemod import Codemod, Context
from ..sparse import split_lines, statement_lines

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
    AFTER = re.compile(r"\w*['\"]?\]?\s*(?::|==|!=|=)")
    BEFORE = re.compile(r"(?:==|!=)\s*[\w.\[\]'\"]*$")

    IDENT = re.compile(r"\w*")
    HEAD = re.compile(r"\w*\Z")

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
            if is_credential_name(text[start:end]):
                return True
        return False


def name_words(name: str) -> List[str]:
    """``adminPass`` -> [admin, pass]; ``X_AUTH_TOKEN`` -> [x, auth, token]."""
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    return [p.lower() for p in parts]


def is_credential_name(name: str) -> bool:
    """A credential word, and nothing after it that describes it (``secret_uuid``,
    ``token_type``, ``key_name`` and ``password_field`` name something else)."""
    words = name_words(name)
    if not words or NOT_SECRET_WORDS.intersection(words) or _CLASS_NAME.match(name):
        return False  # a class name (``ConsoleAuthToken``) names no secret
    last = len(words) - 1
    for k, word in enumerate(words):
        secret = word in SECRET_WORDS or (
            word in KEY_WORDS and k > 0 and words[k - 1] in KEY_QUALIFIERS)
        if secret:
            rest = words[k + 1:]
            return k == last or all(w in SECRET_WORDS | KEY_WORDS | VALUE_WORDS or w.isdigit()
                                    for w in rest)
    return False


_TEMPLATE = re.compile(r"%\(\w+\)[sd]|\{\w*\}|\$\{?\w+|<\w+>")
_REGEX = re.compile(r"^\^|\$$|\.\*|\\[dwsDWS]|\[[^\]]+\]|\(\?")
_MASK = re.compile(r"^[*xX#.•-]+$")
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
    """A value that can be a secret: not empty, a mask, a template or a regular
    expression."""
    stripped = value.strip()
    return bool(stripped) and not _MASK.match(stripped) and not _TEMPLATE.search(stripped) \
        and not _REGEX.search(stripped)


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


def credential_sites(tree: ast.AST) -> Iterator[Tuple[ast.AST, str, str]]:
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
            if name and literal is not None and is_credential_name(name) and \
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
    which bandit, ruff and detect-secrets all miss.

    ## Why is this bad?
    A credential written inline is copied from test to test, trains readers to paste real
    secrets the same way, and makes every secret scanner on the repository noisy, so real
    leaks drown. Kept in one fixtures module, test credentials are easy to find, to allow
    in scanners, and to change.

    ## Example
    ```python
    class ServerActionsTest(test.TestCase):

        def test_rebuild(self):
            body = {'rebuild': {'imageRef': self.image, 'adminPass': 'MySecretPass'}}
            self.api.post_server_action(self.server['id'], body)
    ```

    ## Use instead
    ```python
    from myapp.tests.fixtures import credentials


    class ServerActionsTest(test.TestCase):

        def test_rebuild(self):
            body = {'rebuild': {'imageRef': self.image,
                                'adminPass': credentials.ADMIN_PASS}}
            self.api.post_server_action(self.server['id'], body)
    ```

    ## Fix safety
    None yet: this check reports only. Moving the literals into a fixtures module (every use
    of the same literal in the file, assertions included) is planned; until then each
    finding says so.
    """

    code = "TSF102"
    name = "credential-literal"
    safe = True
    fixable = False
    trigger = Screen()

    def check(self, tree: ast.Module, ctx: Context) -> None:
        # Only statements with a candidate line are walked.
        lines = {n for n, line in enumerate(split_lines(ctx.text), start=1)
                 if self.trigger.search(line)}
        units = [stmt for node in tree.body
                 for stmt in (node.body if isinstance(node, ast.ClassDef) else [node])]
        seen = set()
        for node, name, literal in (site for unit in units
                                    if lines.intersection(statement_lines(unit))
                                    for site in credential_sites(unit)):
            where = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
            if where in seen:
                continue
            seen.add(where)
            ctx.report_at(node, f"literal credential in test code ({name})",
                          "report only: moving it into the fixtures module is not "
                          "implemented yet")

    def regions(self, tree: ast.Module, ctx: Context):
        return set()
