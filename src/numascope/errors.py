"""numascope's own error: what the user did or lacks, said in one line."""


class NumascopeError(Exception):
    """A problem the user can fix. The CLI prints `numascope: <message>` and exits 2.

    The message is one line, names the file, line, field or missing piece, and says
    what to do where that is known.
    """

    exit_code = 2
