"""Class labels and image labels: embeddings, the WordNet audit, supercategories, evaluation."""
