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


def error_line(lines: list[str], limit: int = 300) -> str:
    """The one line that says why a child failed, from its log lines (spawn.ChildResult.error):
    its `mnistx: error:` line, else its last traceback's exception, else its last line."""
    said = [ln for ln in lines if ln.startswith("mnistx: error: ")]
    if said:
        return one_line(said[-1].removeprefix("mnistx: error: "), limit)
    starts = [i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call last)")]
    if starts:
        body = lines[starts[-1] + 1:]
        first = next((i for i, ln in enumerate(body) if ln and not ln[0].isspace()), None)
        if first is not None:
            text = "\n".join(body[first:]).split("\n-----")[0]  # JAX's note on its frames follows
            paras = text.split("\n\n")
            text = paras[0]
            if "Exception encountered when calling" in text and len(paras) > 1:
                text += " " + paras[1]
            return one_line(text, limit)
    rest = [ln.strip() for ln in lines if ln.strip()]
    return one_line(rest[-1], limit) if rest else ""
