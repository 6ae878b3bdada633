"""The one exception type a user sees: a single line that says what to do."""


class MnistxError(Exception):
    """A user-facing error. The CLI prints `mnistx: error: <message>` and exits with `exit_code`."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(" ".join(str(message).split()))  # always one line
        if exit_code is not None:
            self.exit_code = exit_code


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's text on one line, cut at a word boundary (never mid-word) with ' ...';
    terminal colour codes (Keras bolds parts of its messages) removed."""
    import re

    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


class DataError(MnistxError):
    """MNIST could not be found, read or validated."""


class Terminated(KeyboardInterrupt):
    """Raised by the CLI's SIGTERM handler, so that a terminated run cleans up like Ctrl-C."""


class NotSupported(MnistxError):
    """A capability the current backend does not have (e.g. gradients on the NumPy backend);
    reports list it as "not supported by this backend", never as a failure."""
