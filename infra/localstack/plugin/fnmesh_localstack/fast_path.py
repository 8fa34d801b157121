"""The per-call path, cut to what fnmesh's host mode needs (``FNMESH_FAST_PATH``, on unless ``0``).

Profiled with py-spy on the LocalStack process under the bench's substrate section
(``bench/substrate.ts``; docs/BENCHMARKS.md, "Substrate profile"), the time a call costs went
mostly to work beside the call, not to the call:

* **CloudWatch's metric store.** Every SQS call (SendMessage, ReceiveMessage, DeleteMessage, ...)
  and every Lambda invocation publishes a metric: an internal ``PutMetricData`` through the whole
  gateway, which opens a new SQLite connection and commits with an fsync, under one lock. Two
  thirds of the gateway's samples were in that commit. The store stays (``fnmesh ui``'s topology
  reads AWS/Lambda ``Invocations`` and ``Errors``); its SQLite file, scratch state in the state
  dir, is written without an fsync per commit (``synchronous=OFF``): the same rows, the same
  reads, no durability across a machine crash, which a local cloud's metrics never had a use for.
* **AWS/SQS metrics.** Nothing of fnmesh reads them, and each SQS call's metric is a second
  request through the gateway: off (``SQS_DISABLE_CLOUDWATCH_METRICS``, set in
  infra/localstack/localstack.ts; ``FNMESH_FAST_PATH=0`` turns them back on).
* **The response log.** Every AWS call logged an INFO line (``AWS sqs.SendMessage => 200``) and
  built copies of its request and response headers for the log record first, even with the
  logger off. Now only when ``localstack.request.aws`` is enabled for INFO:
  ``FNMESH_REQUEST_LOG=1`` (or ``FNMESH_FAST_PATH=0``) turns the lines back on.

* **Expression lexing.** moto lexes a ConditionExpression and tokenizes an UpdateExpression
  character by character, twice per call (once to check the names and values used, once to run
  it). The tokens depend on the text alone and nothing changes them afterwards, and a program
  sends the same few texts with different values, so each distinct text is lexed once (a bounded
  table; each call gets its own copy of the token list).

* **moto's per-call bookkeeping.** Every moto-served call listed its handler class's methods with
  ``inspect.getmembers`` to find the action (8 % of a conditional UpdateItem's samples); the list
  is now kept per class. And the update-expression validators walk the expression's tree some
  eight times, rebuilding their node-kind table at every node; each walker now builds it once.

* **Update expressions.** moto parses an UpdateItem's expression into a tree twice per call (once
  to check the names and values used, once to run it), and each of its validators deep-copies the
  tree before walking it (twice for an item the update creates). Each distinct text is now parsed
  once (the tree is only read: the validators walk their copy), and a validator's copy of such a
  tree is unpickled from bytes made once, a quarter of a deep copy's cost; any other copy is still
  a deep copy. An UpdateItem cost the process 4.15 ms of CPU, now 2.85 ms. And an expression of
  the common shape skips the validators altogether: ``direct_updates.py``.

* **Condition expressions.** moto parses a ConditionExpression (or a filter) into a tree of
  operations at every call, and a transaction parses each action's condition on its own: a hold
  of 40 channel messages parsed the same condition, with the same values, 40 times. The tree
  depends only on the text, the names and the values, and evaluating it changes nothing, so each
  distinct (text, names, values) is parsed once (a bounded table; a malformed one still raises at
  every call, and nothing is kept for it).

* **Building and copying an item.** moto's item checks the 400 KB limit as each attribute goes
  in, summing the sizes of all the attributes before it: quadratic in the attributes, for every
  item a put writes. The sizes only grow as attributes are added, so one check of the whole item,
  before it is kept, refuses exactly the items the per-attribute check refused. And every
  UpdateItem deep-copies the item it changes (the "before" of its answer and of its stream
  record) through the generic copier, which rebuilds the attributes one checked insertion at a
  time: more than half of an update's work once its expression is applied directly. An item and
  its values now copy themselves: the same values, new containers, the immutable leaves shared.

* **The Content-Type of every POST.** Twisted, LocalStack's HTTP server, parses each POST's
  Content-Type header with the standard library's e-mail header parser (to see whether the body is
  a form), on the reactor thread every connection's bytes go through: 15 % of the process's time
  during a fan-out of 1,000 tasks. A program sends a handful of distinct Content-Types, so each
  distinct header is parsed once (a bounded table; the same answer for the same bytes).

None of this changes what a call answers, what strict mode does, or the order of anything.
"""

import logging
import os
import sqlite3
from collections import deque

LOG = logging.getLogger(__name__)

FAST_PATH_SWITCH = "FNMESH_FAST_PATH"
REQUEST_LOG_SWITCH = "FNMESH_REQUEST_LOG"
FAST_PATH_MARKER = "fnmesh: per-call fast path on"
# Distinct expression texts kept lexed; past this the table starts again (a program has a few dozen).
EXPRESSION_TEXTS_KEPT = 4096
# Distinct (condition, names, values) kept parsed; past this the table starts again.
CONDITIONS_KEPT = 4096
# Distinct Content-Type headers kept parsed (least recently used dropped first).
CONTENT_TYPES_KEPT = 256


def _is_on(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    return value in ("1", "true")


def enabled() -> bool:
    return _is_on(FAST_PATH_SWITCH, True)


def _quiet_response_log() -> None:
    """Skip the response logger's work (log record and its header copies) unless INFO is on for it."""
    from localstack.aws.handlers import logging as response_logging

    for name in ("localstack.request.aws", "localstack.request.http"):
        logging.getLogger(name).setLevel(logging.WARNING)
    original = response_logging.ResponseLogger._log

    def log_if_enabled(self, context, response):
        if context.operation:
            logger = self.internal_aws_logger if context.is_internal_call else self.aws_logger
        else:
            logger = self.internal_http_logger if context.is_internal_call else self.http_logger
        if logger.isEnabledFor(logging.INFO):
            original(self, context, response)

    response_logging.ResponseLogger._log = log_if_enabled


def _metrics_without_fsync() -> None:
    """CloudWatch's metric SQLite store: no fsync per commit (each write opens a connection)."""
    from localstack.services.cloudwatch import cloudwatch_database_helper as helper

    connect = sqlite3.connect

    def connect_unsynced(database, *args, **kwargs):
        conn = connect(database, *args, **kwargs)
        if "mode=ro" not in str(database):
            conn.execute("PRAGMA synchronous=OFF")
        return conn

    class Sqlite3:
        """The ``sqlite3`` module as the helper sees it, with the connect above."""

        def __getattr__(self, name):
            return connect_unsynced if name == "connect" else getattr(sqlite3, name)

    helper.sqlite3 = Sqlite3()


def _lexed_once(lex, fresh_copy):
    """``lex(text, *args)`` remembered by ``text``: the tokens as a tuple, handed out as ``fresh_copy(tokens)``."""
    kept: dict = {}

    def lexed(text, *args):
        tokens = kept.get(text)
        if tokens is None:
            tokens = tuple(lex(text, *args))  # a malformed text raises here, and nothing is kept
            if len(kept) >= EXPRESSION_TEXTS_KEPT:
                kept.clear()
            kept[text] = tokens
        return fresh_copy(tokens)

    return lexed


def _lex_expressions_once() -> None:
    """moto's condition lexer and update-expression tokenizer, each distinct text lexed once."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer

    lex_condition = ConditionExpressionParser._lex_condition_expression
    lexed_condition = _lexed_once(lambda _text, parser: lex_condition(parser), deque)
    ConditionExpressionParser._lex_condition_expression = lambda parser: lexed_condition(parser.condition_expression, parser)

    tokenize = _lexed_once(ExpressionTokenizer.make_list, list)  # bound to the class already
    ExpressionTokenizer.make_list = classmethod(lambda _cls, text: tokenize(text))


def _moto_bookkeeping_once() -> None:
    """moto's per-call lookups that depend only on a class or a walker: made once each."""
    import functools

    from moto.core import responses
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    method_names = responses.method_names_from_class
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(lambda clazz: frozenset(method_names(clazz)))

    def processing_table(walker) -> tuple:
        """(kinds, (kind, processor) pairs) of a walker, made at its first node."""
        table = walker.__dict__.get("_fnmesh_processing")
        if table is None:
            pairs = tuple(walker._processing_map().items())
            table = walker.__dict__["_fnmesh_processing"] = (tuple(kind for kind, _ in pairs), pairs)
        return table

    def process(walker, node):
        for kind, processor in processing_table(walker)[1]:
            if isinstance(node, kind):
                return processor(node)

    # A walker that overrides nodes_to_be_processed (a more specific order of kinds) keeps its own.
    DepthFirstTraverser.nodes_to_be_processed = lambda walker: processing_table(walker)[0]
    DepthFirstTraverser.process = process


def _update_expressions_parsed_once() -> None:
    """moto's update-expression trees, parsed once per text, copied for a validator by unpickling."""
    import copy
    import pickle

    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from fnmesh_localstack import direct_updates

    make = UpdateExpressionParser.make  # bound to the class already
    trees: dict = {}  # text -> tree
    pickled: dict = {}  # id(tree) -> its pickle, for the trees in `trees` (cleared together)
    plans: dict = {}  # id(tree) -> its direct plan (direct_updates.py), where it has one (the same)

    def make_once(_cls, text):
        tree = trees.get(text)
        if tree is None:
            tree = make(text)  # a malformed text raises here, and nothing is kept
            if len(trees) >= EXPRESSION_TEXTS_KEPT:
                trees.clear()
                pickled.clear()
                plans.clear()
            trees[text] = tree
            plan = direct_updates.plan_of(text)
            if plan is not None:
                plans[id(tree)] = plan
            try:
                pickled[id(tree)] = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # not picklable: its copies stay deep copies
                pass
        return tree

    def copy_for_validator(node, memo=None):
        # Every id in `pickled` is a tree `trees` keeps alive: no other live object can have it.
        as_bytes = pickled.get(id(node))
        return pickle.loads(as_bytes) if as_bytes is not None else copy.deepcopy(node, memo)

    UpdateExpressionParser.make = classmethod(make_once)
    validators.deepcopy = copy_for_validator
    direct_updates.install(plans)


def _conditions_parsed_once() -> None:
    """moto's condition and filter trees, parsed once per (text, names, values)."""
    import json

    import moto.dynamodb.models as models
    import moto.dynamodb.models.table as tables
    from moto.dynamodb import comparisons

    from fnmesh_localstack import transactions

    parse = comparisons.get_filter_expression
    trees: dict = {}

    def parsed_once(expression, names, values):
        if expression is None:
            return parse(expression, names, values)
        try:
            key = (expression, json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True))
        except (TypeError, ValueError):  # not plain JSON (never from a request): parsed every time
            return parse(expression, names, values)
        tree = trees.get(key)
        if tree is None:
            tree = parse(expression, names, values)  # a malformed one raises here, and nothing is kept
            if len(trees) >= CONDITIONS_KEPT:
                trees.clear()
            trees[key] = tree
        return tree

    class ParsedOnce:
        """What update_item asks of a condition's parser: its tree."""

        def __init__(self, expression, names, values):
            self.args = (expression, names, values)

        def parse(self):
            return parsed_once(*self.args)

    for module in (comparisons, models, tables, transactions):
        module.get_filter_expression = parsed_once
    # The handlers (responses.py) keep moto's parser: they read which names and values it found.
    models.create_condition_expression_parser = ParsedOnce


def _items_sized_once() -> None:
    """moto's Item, its 400 KB limit checked once over the whole item instead of per attribute,
    and its deep copy made by the item itself."""
    import copy

    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    limit = 405_000  # LimitedSizeDict's

    def build(self, hash_key, range_key, attrs) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        converted = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in converted.items()) > limit:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict(converted)  # its constructor adds without the per-key check

    def copy_item(self, memo):
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for name, field in self.__dict__.items():
            if name == "attrs":
                field = LimitedSizeDict({key: copy.deepcopy(value, memo) for key, value in field.items()})
            else:
                field = copy.deepcopy(field, memo)
            clone.__dict__[name] = field
        return clone

    def copy_value(self, memo):
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for name, field in self.__dict__.items():
            if name != "value":
                field = copy.deepcopy(field, memo)
            elif isinstance(field, list):  # a list's values, or a set's members (str)
                field = [copy.deepcopy(member, memo) for member in field]
            elif isinstance(field, dict):  # a map's values
                field = {key: copy.deepcopy(member, memo) for key, member in field.items()}
            # else: str, bytes, bool or None, never changed in place: shared
            clone.__dict__[name] = field
        return clone

    Item.__init__ = build
    Item.__deepcopy__ = copy_item
    DynamoType.__deepcopy__ = copy_value


def _content_types_parsed_once() -> None:
    """Twisted's Content-Type parse (an e-mail header parse per POST), once per distinct header."""
    import functools

    from twisted.web import http

    http._parseContentType = functools.lru_cache(maxsize=CONTENT_TYPES_KEPT)(http._parseContentType)


def install() -> None:
    if not enabled():
        return
    if not _is_on(REQUEST_LOG_SWITCH, False):
        _quiet_response_log()
    _metrics_without_fsync()
    _lex_expressions_once()
    _moto_bookkeeping_once()
    _update_expressions_parsed_once()
    _conditions_parsed_once()
    _items_sized_once()
    _content_types_parsed_once()
    LOG.info(FAST_PATH_MARKER)
