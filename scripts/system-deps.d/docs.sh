PACKAGES+=(graphviz)
