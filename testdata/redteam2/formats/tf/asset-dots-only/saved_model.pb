2


asset_path...