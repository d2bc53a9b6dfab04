package schema

// NodeString prints a compiled expression in the schema language, as the
// formatter writes the expression it was compiled from: through the one
// printer, ExprString, so that both agree on every parenthesis.
func NodeString(n Node) string { return ExprString(nodeExpr(n)) }

// nodeExpr turns a compiled expression back into the syntax it prints
// as. An arrow keeps its path as written (`parent.viewer`), which prints
// as one name.
func nodeExpr(n Node) Expr {
	switch n := n.(type) {
	case *Ref:
		return &RefExpr{Target: Ident{Name: n.Relation.Name}}
	case *Arrow:
		return &RefExpr{Target: Ident{Name: n.Text}}
	case *Union:
		return foldExpr(OpUnion, n.Children)
	case *Intersect:
		return foldExpr(OpIntersect, n.Children)
	case *Exclude:
		return &BinaryExpr{Op: OpExclude, X: nodeExpr(n.Base), Y: nodeExpr(n.Subtract)}
	}
	return &RefExpr{Target: Ident{Name: "?"}}
}

// foldExpr chains children with op, left to right, splicing in children
// of the same operator: `a | b | c` whatever the grouping of the tree.
func foldExpr(op Op, children []Node) Expr {
	var x Expr
	var add func(ch Node)
	add = func(ch Node) {
		switch c := ch.(type) {
		case *Union:
			if op == OpUnion {
				for _, g := range c.Children {
					add(g)
				}
				return
			}
		case *Intersect:
			if op == OpIntersect {
				for _, g := range c.Children {
					add(g)
				}
				return
			}
		}
		if x == nil {
			x = nodeExpr(ch)
			return
		}
		x = &BinaryExpr{Op: op, X: x, Y: nodeExpr(ch)}
	}
	for _, ch := range children {
		add(ch)
	}
	if x == nil {
		return &RefExpr{Target: Ident{Name: "?"}}
	}
	return x
}
