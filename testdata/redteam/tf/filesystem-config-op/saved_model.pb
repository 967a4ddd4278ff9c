#!

fFileSystemSetConfiguration