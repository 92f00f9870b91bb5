"""Appending keyword arguments to a call, in the call's own layout (POL301's and POL404's fixes)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import libcst as cst


def _value_node(value: object) -> cst.BaseExpression:
    return cst.parse_expression(repr(value))


def _newline_ws(template: cst.ParenthesizedWhitespace, first_line: Optional[cst.TrailingWhitespace] = None):
    """A line break followed by `template`'s indentation, without its comments."""
    return cst.ParenthesizedWhitespace(
        first_line=first_line or cst.TrailingWhitespace(),
        empty_lines=(),
        indent=template.indent,
        last_line=template.last_line,
    )


def _after(arg: cst.Arg) -> cst.BaseParenthesizableWhitespace:
    """The whitespace between an argument and what follows it."""
    if isinstance(arg.comma, cst.Comma):
        return arg.comma.whitespace_after
    return arg.whitespace_after_arg


def with_keywords(call: cst.Call, additions: Sequence[Tuple[str, object]]) -> cst.Call:
    """`call` with `key=value` arguments appended, in the call's own layout:
    one per line when every argument sits on its own line, inline otherwise."""
    args = list(call.args)
    new_args = [
        cst.Arg(
            keyword=cst.Name(key),
            value=_value_node(value),
            equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
        )
        for key, value in additions
    ]
    if not args:
        between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        return call.with_changes(args=[arg.with_changes(comma=between) for arg in new_args[:-1]] + new_args[-1:])
    last = args[-1]
    closing = _after(last)
    separators = [arg.comma.whitespace_after for arg in args[:-1] if isinstance(arg.comma, cst.Comma)]
    vertical = (
        isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace)
        and len(separators) == len(args) - 1
        and all(isinstance(ws, cst.ParenthesizedWhitespace) for ws in separators)
        and isinstance(closing, cst.ParenthesizedWhitespace)
    )
    if vertical:
        assert isinstance(closing, cst.ParenthesizedWhitespace)
        template = separators[0] if separators else call.whitespace_before_args
        assert isinstance(template, cst.ParenthesizedWhitespace)
        between = cst.Comma(whitespace_after=_newline_ws(template))
        # The old last argument keeps its own end-of-line comment.
        args[-1] = last.with_changes(
            comma=cst.Comma(
                whitespace_before=last.comma.whitespace_before if isinstance(last.comma, cst.Comma) else cst.SimpleWhitespace(""),
                whitespace_after=_newline_ws(template, closing.first_line).with_changes(empty_lines=closing.empty_lines),
            ),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        end = _newline_ws(closing)
        for arg in new_args[:-1]:
            args.append(arg.with_changes(comma=between))
        if isinstance(last.comma, cst.Comma):
            args.append(new_args[-1].with_changes(comma=cst.Comma(whitespace_after=end)))
        else:
            args.append(new_args[-1].with_changes(whitespace_after_arg=end))
        return call.with_changes(args=args)
    between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    args[-1] = last.with_changes(comma=between, whitespace_after_arg=cst.SimpleWhitespace(""))
    for arg in new_args[:-1]:
        args.append(arg.with_changes(comma=between))
    # Whatever followed the old last argument (a trailing comma, a line
    # break before the closing parenthesis) now follows the new last one.
    args.append(new_args[-1].with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


def without_keyword(call: cst.Call, name: str) -> cst.Call:
    """`call` without its `name=` argument, keeping the layout and comments of
    the other arguments: a trailing comma stays where the removed argument had
    one, and a line break before the closing parenthesis stays."""
    args = list(call.args)
    index = next(i for i, arg in enumerate(args) if arg.keyword is not None and arg.keyword.value == name)
    removed = args.pop(index)
    if not args:
        return call.with_changes(args=(), whitespace_before_args=cst.SimpleWhitespace(""))
    if index < len(args):
        # Not the last one: what came before it is followed by what followed it.
        if index > 0:
            previous = args[index - 1]
            if (
                isinstance(previous.comma, cst.Comma)
                and isinstance(removed.comma, cst.Comma)
                and not isinstance(previous.comma.whitespace_after, cst.ParenthesizedWhitespace)
            ):
                # `url, echo=True,\n    pool_size=5`: keep pool_size on its own line.
                args[index - 1] = previous.with_changes(
                    comma=previous.comma.with_changes(whitespace_after=removed.comma.whitespace_after)
                )
        return call.with_changes(args=args)
    # The last one: the argument before it now ends the call.
    previous = args[-1]
    closing = removed.comma.whitespace_after if isinstance(removed.comma, cst.Comma) else removed.whitespace_after_arg
    previous_ws = previous.comma.whitespace_after if isinstance(previous.comma, cst.Comma) else None
    if isinstance(previous_ws, cst.ParenthesizedWhitespace) and (
        isinstance(closing, cst.ParenthesizedWhitespace)
        or previous_ws.first_line.comment is not None
        or previous_ws.empty_lines
    ):
        # The argument before it ends its line (maybe with a comment): keep
        # its comma as a trailing one and the closing parenthesis where it was.
        if isinstance(closing, cst.ParenthesizedWhitespace):
            after = previous_ws.with_changes(indent=closing.indent, last_line=closing.last_line)
        else:
            after = previous_ws.with_changes(indent=True, last_line=cst.SimpleWhitespace(""))
        args[-1] = previous.with_changes(comma=previous.comma.with_changes(whitespace_after=after))
    elif isinstance(removed.comma, cst.Comma):
        # `url, echo=True,\n)`: the trailing comma moves to the argument before.
        args[-1] = previous.with_changes(comma=previous.comma.with_changes(whitespace_after=closing))
    else:
        args[-1] = previous.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=closing)
    return call.with_changes(args=args)
