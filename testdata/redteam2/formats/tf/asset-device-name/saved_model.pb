2


asset_pathCON