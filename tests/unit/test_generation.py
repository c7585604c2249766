"""The token loop every local engine shares (`app.inference.generation`), on a scripted engine.

`ScriptedBackend` answers with a fixed list of token ids and a byte-level vocabulary (as
SmolVLM2's tokenizer is: a character may take several tokens), and counts what it is asked
to decode.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.inference.answer import collect
from app.inference.generation import LocalBackend, StreamingDetokenizer, TokenStream
from app.inference.types import BackendInfo, GenerationRequest, LoadProgressCallback

EOS = 0


class ScriptedBackend(LocalBackend):
    """Answers every request with `answer` (token ids); `vocab` maps ids to bytes."""

    eos = frozenset({EOS})

    def __init__(self, vocab: dict[int, bytes], answer: Sequence[int]) -> None:
        self.vocab = vocab
        self.answer = list(answer)
        self.decoded_lengths: list[int] = []

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("scripted", "scripted", "cpu", "none")

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        pass

    def prepare(self, request: GenerationRequest) -> TokenStream:
        return TokenStream(ids=iter(self.answer), prompt_tokens=3)

    def detokenize(self, ids: list[int]) -> str:
        self.decoded_lengths.append(len(ids))
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def close(self) -> None:
        pass


# Words with their leading space, and "é" (C3 A9) in two tokens, as byte-level vocabularies have.
VOCAB = {EOS: b"", 1: b"A", 2: b" cat", 3: b" sat", 4: b".", 5: b"\xc3", 6: b"\xa9", 7: b" caf", 8: b" Us"}


def answer_of(ids: Sequence[int], **request: object) -> tuple[str, list[str]]:
    backend = ScriptedBackend(VOCAB, ids)
    pieces = [chunk.text for chunk in backend.stream(GenerationRequest("Describe.", **request))]  # type: ignore[arg-type]
    return "".join(pieces), pieces


def test_the_pieces_make_the_answer_with_its_spaces_and_split_characters() -> None:
    text, pieces = answer_of([1, 2, 3, 7, 5, 6, 4, EOS])
    assert text == "A cat sat café."
    assert "\ufffd" not in text
    assert pieces[:4] == ["A", " cat", " sat", " caf"]  # each word as its token arrives


def test_the_cost_per_token_does_not_grow_with_the_answer() -> None:
    backend = ScriptedBackend(VOCAB, [2] * 2000 + [EOS])
    answer = collect(backend.stream(GenerationRequest("Describe.", max_tokens=3000)))
    assert answer.text == (" cat" * 2000).strip()  # an answer is given without its outer spaces
    # Decoding the whole answer on every token would ask for 2,001,000 ids in all.
    assert max(backend.decoded_lengths) <= 3
    assert sum(backend.decoded_lengths) < 5 * 2000


def test_characters_before_an_unfinished_one_are_kept_when_the_answer_ends() -> None:
    # A token holding "caf" and the first byte of "é", then the end of the answer.
    vocab = {**VOCAB, 9: b" caf\xc3"}
    backend = ScriptedBackend(vocab, [1, 9, EOS])
    assert collect(backend.stream(GenerationRequest("Describe."))).text == "A caf"
    backend = ScriptedBackend(vocab, [1, 9])  # the token budget ends it
    assert collect(backend.stream(GenerationRequest("Describe.", max_tokens=2))).text == "A caf"


def test_text_held_back_for_a_stop_string_is_given_when_the_answer_ends_without_it() -> None:
    text, _ = answer_of([1, 2, 8, EOS], stop=("User:",))
    assert text == "A cat Us"
    text, _ = answer_of([1, 2, 8, 4, EOS], stop=(" Us",))
    assert text == "A cat"


def test_the_detokenizer_alone_flushes_once() -> None:
    text = StreamingDetokenizer(lambda ids: "".join("ab"[i] for i in ids))
    assert text.add(0) == "a" and text.add(1) == "b"
    assert text.flush() == "" and text.flush() == ""
