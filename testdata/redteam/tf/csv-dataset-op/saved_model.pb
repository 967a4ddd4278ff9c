

cCSVDatasetV2