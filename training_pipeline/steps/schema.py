"""The dataset contract: feature columns, label column and the values they may hold.

The data is the Wisconsin diagnostic breast-cancer table (scikit-learn's bundled copy): 30
non-negative measurements per case, and the label ``malignant`` (1 = malignant, 0 = benign).
"""

FEATURES: list[str] = [
    "mean_radius",
    "mean_texture",
    "mean_perimeter",
    "mean_area",
    "mean_smoothness",
    "mean_compactness",
    "mean_concavity",
    "mean_concave_points",
    "mean_symmetry",
    "mean_fractal_dimension",
    "radius_error",
    "texture_error",
    "perimeter_error",
    "area_error",
    "smoothness_error",
    "compactness_error",
    "concavity_error",
    "concave_points_error",
    "symmetry_error",
    "fractal_dimension_error",
    "worst_radius",
    "worst_texture",
    "worst_perimeter",
    "worst_area",
    "worst_smoothness",
    "worst_compactness",
    "worst_concavity",
    "worst_concave_points",
    "worst_symmetry",
    "worst_fractal_dimension",
]
LABEL: str = "malignant"
LABEL_VALUES: tuple[int, int] = (0, 1)
COLUMNS: list[str] = [*FEATURES, LABEL]

# Features are read as float64 (exact round trip of the CSV text); the label as float64 too, so
# that a missing or fractional label can be reported instead of failing the parse, and it is
# stored as int64 once validated.
FEATURE_DTYPE = "float64"
LABEL_DTYPE = "int64"

# Every feature is a length, area, ratio or count: finite and never negative.
FEATURE_MIN: float = 0.0
