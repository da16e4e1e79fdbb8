"""audiodiff: SpeechBrain-style recipes for audio diffusion models."""

from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="audiodiff",
    version="0.1.0",
    description="Diffusion recipes for audio in the SpeechBrain manner: lobes, recipes, tools",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["audiodiff", "audiodiff.*"]),
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.7,<2.15",
        "torchaudio>=2.7",
        "speechbrain>=1.1,<1.2",
        "hyperpyyaml",
        "datasets",
        "sentencepiece",
        "matplotlib",
        "pillow",
        "soundfile",
        "tqdm",
        "numpy",
        "scipy",
        "pystoi",
    ],
    extras_require={
        # PESQ (ITU-T P.862) is built from source by pip; tools say how to get it when missing
        "eval": ["pesq"],
        # eSpeak NG is GPL-3.0: only the corpus builder and the TTS phonemizer use it
        "synth": ["espeakng-loader"],
        # CLAP audio embeddings (audiodiff.inference.ClapAudioEncoder), from local folders only
        "clap": ["transformers>=4.30"],
        "dev": ["pytest", "ruff", "pesq", "espeakng-loader", "transformers>=4.30"],
    },
)
