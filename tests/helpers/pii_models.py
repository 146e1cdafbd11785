"""Tiny NER models for the pii filter, trained here on a handful of sentences (no download).

``build_spacy_ner(folder)`` trains a blank English spaCy NER until it tags every training
sentence exactly; ``build_hf_ner(folder)`` does the same for a one-layer BERT token classifier
with a locally built word-level tokenizer. Both save to ``folder`` and return it.
"""

from __future__ import annotations

import random
from pathlib import Path

# (text, [(entity text, label)]) - the labels are spaCy's (PERSON, GPE, ORG) or CoNLL's (PER, LOC, ORG).
SENTENCES: list[tuple[str, list[tuple[str, str]]]] = [
    ("Alice Johnson lives in Paris and works for Acme Corporation.", [("Alice Johnson", "PERSON"), ("Paris", "GPE"), ("Acme Corporation", "ORG")]),
    ("Bob Smith moved to Berlin to join Globex Industries.", [("Bob Smith", "PERSON"), ("Berlin", "GPE"), ("Globex Industries", "ORG")]),
    ("Carol White visited London with Initech Systems.", [("Carol White", "PERSON"), ("London", "GPE"), ("Initech Systems", "ORG")]),
    ("Yesterday Alice Johnson called from Paris.", [("Alice Johnson", "PERSON"), ("Paris", "GPE")]),
    ("The report was sent to Bob Smith in Berlin.", [("Bob Smith", "PERSON"), ("Berlin", "GPE")]),
    ("Acme Corporation hired Carol White last year.", [("Acme Corporation", "ORG"), ("Carol White", "PERSON")]),
    ("The weather is nice today.", []),
    ("Please summarise the attached document.", []),
]
_CONLL = {"PERSON": "PER", "GPE": "LOC", "ORG": "ORG"}


def _offsets(text: str, ents: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    return [(text.index(w), text.index(w) + len(w), label) for w, label in ents]


def build_spacy_ner(folder: Path, max_iterations: int = 60) -> Path:
    """Train and save a blank-English spaCy NER pipeline that tags SENTENCES exactly."""
    import spacy
    from spacy.training import Example

    random.seed(0)
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner")
    data = [(text, _offsets(text, ents)) for text, ents in SENTENCES]
    for _, spans in data:
        for _, _, label in spans:
            ner.add_label(label)
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": spans}) for text, spans in data]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(max_iterations):
        random.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.0)
        if all(sorted((e.start_char, e.end_char, e.label_) for e in nlp(text).ents) == sorted(spans) for text, spans in data):
            break
    else:
        raise RuntimeError("tiny spaCy NER did not converge")
    nlp.to_disk(folder)
    return folder


def build_hf_ner(folder: Path, max_steps: int = 400) -> Path:
    """Train and save a one-layer BERT token classifier (BIO labels PER/LOC/ORG) that tags SENTENCES exactly."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    pre = pre_tokenizers.BertPreTokenizer()
    words = sorted({w for text, _ in SENTENCES for w, _ in pre.pre_tokenize_str(text)})
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", model_max_length=64
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = BertForTokenClassification(config)
    batch = []
    for text, ents in SENTENCES:
        enc = fast(text, return_offsets_mapping=True)
        spans = [(s, e, _CONLL[label]) for s, e, label in _offsets(text, ents)]
        tags = []
        for start, end in enc["offset_mapping"]:
            if start == end:
                tags.append(-100)
                continue
            tag = "O"
            for s, e, label in spans:
                if s <= start and end <= e:
                    tag = ("B-" if start == s else "I-") + label
            tags.append(labels.index(tag))
        batch.append((torch.tensor([enc["input_ids"]]), torch.tensor([tags])))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(max_steps):
        model.train()
        loss = sum(model(input_ids=x, labels=y).loss for x, y in batch)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[union-attr]
        optimizer.step()
        if step % 10 == 9:
            model.eval()
            with torch.no_grad():
                if all(bool((model(input_ids=x).logits.argmax(-1)[y != -100] == y[y != -100]).all()) for x, y in batch):
                    break
    else:
        raise RuntimeError("tiny BERT NER did not converge")
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
