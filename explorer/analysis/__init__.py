"""Analysis of a version's embeddings: plain numpy / FAISS / scikit-learn.

k-NN graph and neighbours, the 2-D map, anomaly scores, clusters, cluster
metrics and the two-point correlation score, the neighbourhood diff between
versions, and the pipeline that writes a version's analysis files. Nothing
here imports torch or Panel; import the sub-module you need (the package
itself imports nothing heavy).
"""
