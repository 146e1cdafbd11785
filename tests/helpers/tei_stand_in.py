"""A stand-in for Hugging Face Text Embeddings Inference's ``POST /predict``, serving a real (tiny) classifier.

It reads ``inputs`` the way TEI's router does (a string, a pair ``[a, b]``, or a batch ``[[a], [a, b], ...]``),
runs the model with plain transformers (tokenizer, forward pass, softmax or sigmoid by the model's problem type)
and answers TEI's shapes: ``[{"score", "label"}, ...]`` sorted by score for one input, a list of those for a
batch. With ``truncate: false`` an input longer than the model's window is refused with 413, as TEI does.
Knobs for tests: ``fail_next`` (answer 503 that many times), ``api_key`` (401 without it); ``batches`` records
the batch sizes it answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class TeiStandIn:
    def __init__(self, model_dir: Path, *, api_key: str | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
        self.window = int(self.model.config.max_position_embeddings)
        self.api_key = api_key
        self.fail_next = 0
        self.batches: list[int] = []

    def predict(self, sequence: list[str], truncate: bool) -> list[dict[str, Any]] | None:
        enc = self.tokenizer(*sequence, truncation=truncate, max_length=self.window, return_tensors="pt")
        if enc["input_ids"].shape[1] > self.window:
            return None
        with self.torch.no_grad():
            logits = self.model(**enc).logits[0]
        multi = self.model.config.problem_type == "multi_label_classification"
        probs = self.torch.sigmoid(logits) if multi else self.torch.softmax(logits, dim=-1)
        labels = self.model.config.id2label
        out = [{"score": float(p), "label": labels[i]} for i, p in enumerate(probs.tolist())]
        return sorted(out, key=lambda p: -p["score"])

    async def handle(self, request: Request) -> JSONResponse:
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"error": "unauthorized", "error_type": "Unauthorized"}, status_code=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"error": "model is overloaded", "error_type": "Overloaded"}, status_code=503)
        body = await request.json()
        inputs, truncate = body["inputs"], bool(body.get("truncate", False))
        if isinstance(inputs, str):
            batch, single = [[inputs]], True
        elif inputs and isinstance(inputs[0], str):
            batch, single = [inputs], True  # one pair (or one string in a list)
        else:
            batch, single = inputs, False
        answers = [self.predict(seq, truncate) for seq in batch]
        if any(a is None for a in answers):
            return JSONResponse({"error": f"Input validation error: inputs must have less than {self.window} tokens",
                                 "error_type": "Validation"}, status_code=413)
        self.batches.append(len(batch))
        return JSONResponse(answers[0] if single else answers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/predict", self.handle, methods=["POST"])])
