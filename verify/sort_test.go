package verify

import "sort"

func sortStrings(s []string) { sort.Strings(s) }
