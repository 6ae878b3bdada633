"""KerasHub models at small sizes, built from explicit configs (no presets, no downloads).

Each function is a model spec for every mnistx command: `--model benchmarks/atlas_models.py:bert`.
FAMILIES says what each one stands for in the portability atlas (docs/atlas.md). The sizes are
small enough that a parity run of each takes under a minute on 2 CPU cores, and large enough that
every mechanism of the family runs: several heads, two layers, rotary embeddings, grouped-query
attention (fewer key/value heads than query heads), masks over sequence length 12.
"""

from __future__ import annotations

import keras_hub as kh

VOCAB, HIDDEN, FF, SEQ = 128, 32, 64, 32  # vocabulary, width, feed-forward width, max positions
TEXT = dict(vocabulary_size=VOCAB, num_layers=2, hidden_dim=HIDDEN, intermediate_dim=FF)


def bert():
    return kh.models.BertBackbone(num_heads=4, max_sequence_length=SEQ, dropout=0.0, **TEXT)


def roberta():
    return kh.models.RobertaBackbone(num_heads=4, max_sequence_length=SEQ, dropout=0.0, **TEXT)


def distil_bert():
    return kh.models.DistilBertBackbone(num_heads=4, max_sequence_length=SEQ, dropout=0.0, **TEXT)


def albert():
    return kh.models.AlbertBackbone(num_heads=4, embedding_dim=16, max_sequence_length=SEQ, **TEXT)


def gpt2():
    return kh.models.GPT2Backbone(num_heads=4, max_sequence_length=SEQ, dropout=0.0, **TEXT)


def opt():
    return kh.models.OPTBackbone(num_heads=4, max_sequence_length=SEQ, dropout=0.0, **TEXT)


def gpt_neox():
    return kh.models.GPTNeoXBackbone(num_heads=4, max_sequence_length=SEQ, **TEXT)


def llama():
    return kh.models.LlamaBackbone(num_query_heads=4, num_key_value_heads=2, **TEXT)


def mistral():
    return kh.models.MistralBackbone(num_query_heads=4, num_key_value_heads=2, sliding_window=8, **TEXT)


def qwen3():
    return kh.models.Qwen3Backbone(num_query_heads=4, num_key_value_heads=2, head_dim=8, **TEXT)


def gemma():
    return kh.models.GemmaBackbone(num_query_heads=4, num_key_value_heads=2, head_dim=8, **TEXT)


def bart():
    return kh.models.BartBackbone(num_heads=4, max_sequence_length=SEQ, dropout=0.0, **TEXT)


def t5():
    return kh.models.T5Backbone(num_heads=4, dropout=0.0, **TEXT)


def whisper():
    return kh.models.WhisperBackbone(num_heads=4, num_mels=16, max_encoder_sequence_length=SEQ,
                                     max_decoder_sequence_length=SEQ, **TEXT)


def vit():
    return kh.models.ViTBackbone(image_shape=(32, 32, 3), patch_size=8, num_layers=2, num_heads=4,
                                 hidden_dim=HIDDEN, mlp_dim=FF)


def resnet():
    return kh.models.ResNetBackbone(input_conv_filters=[64], input_conv_kernel_sizes=[3],
                                    stackwise_num_filters=[64, 32], stackwise_num_blocks=[1, 1],
                                    stackwise_num_strides=[1, 2], block_type="basic_block")


def resnet_classifier():
    return kh.models.ImageClassifier(backbone=resnet(), num_classes=10)


def vit_classifier():
    return kh.models.ViTImageClassifier(backbone=vit(), num_classes=10)


def bert_classifier():
    return kh.models.BertTextClassifier(backbone=bert(), num_classes=3, preprocessor=None, dropout=0.0)


# name -> (family, what it exercises)
FAMILIES = {
    "bert": ("text encoder", "post-norm encoder, segment embeddings, padding mask"),
    "roberta": ("text encoder", "BERT without segments"),
    "distil_bert": ("text encoder", "6-layer-style distilled BERT"),
    "albert": ("text encoder", "factorised embeddings, shared layers"),
    "gpt2": ("decoder", "learned positions, causal mask"),
    "opt": ("decoder", "learned positions (offset), causal mask"),
    "gpt_neox": ("decoder", "partial rotary embeddings"),
    "llama": ("decoder", "rotary embeddings, grouped-query attention, RMSNorm"),
    "mistral": ("decoder", "rotary, grouped-query, sliding-window attention"),
    "qwen3": ("decoder", "rotary, grouped-query, query/key norms"),
    "gemma": ("decoder", "rotary, grouped-query, tied embeddings"),
    "bart": ("encoder-decoder", "text encoder-decoder, two masks"),
    "t5": ("encoder-decoder", "relative position buckets"),
    "whisper": ("audio", "log-mel frames through convolutions, encoder-decoder"),
    "vit": ("vision", "patch embedding, class token"),
    "resnet": ("vision", "CNN, BatchNormalization, any image size"),
    "resnet_classifier": ("task model", "ImageClassifier head on a ResNet"),
    "vit_classifier": ("task model", "ViTImageClassifier head"),
    "bert_classifier": ("task model", "BertTextClassifier head (preprocessor=None)"),
}
