Binputj(
location../../../../root/.ssh/id_rsaj
offset0j
length4p