"""Analysis of a version's embeddings: plain numpy / FAISS / scikit-learn.

Input validation (``validate``: the one NaN/inf-row check), the k-NN graph
(``knn``), similarity search (``neighbors``), the 2-D map (``projection``),
pixel features, anomaly scores, clusters, PCA, cluster metrics and the
two-point correlation score (``tpcf``, ``tpcf_pairs``), the neighbourhood diff
between versions, and the pipeline that writes a version's analysis files. Nothing
here imports torch or Panel; import the sub-module you need (the package
itself imports nothing heavy).
"""
