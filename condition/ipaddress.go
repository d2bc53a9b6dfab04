package condition

import (
	"fmt"
	"net/netip"
	"reflect"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// ipAddressType is the CEL type of an `ipaddress` parameter: an opaque
// value with the constructor ipaddress(string) and the method
// in_cidr(string), as both SpiceDB and OpenFGA offer.
var ipAddressType = cel.OpaqueType("ipaddress")

// IPAddress is the CEL value of an ipaddress.
type IPAddress struct{ Addr netip.Addr }

// ParseIPAddress reads an IPv4 or IPv6 address (no zone, no prefix).
func ParseIPAddress(s string) (IPAddress, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return IPAddress{}, fmt.Errorf("not an IP address: %q", s)
	}
	if a.Zone() != "" {
		return IPAddress{}, fmt.Errorf("not an IP address: %q has a zone", s)
	}
	return IPAddress{Addr: a.Unmap()}, nil
}

// ConvertToNative implements ref.Val.
func (ip IPAddress) ConvertToNative(typeDesc reflect.Type) (any, error) {
	switch typeDesc {
	case reflect.TypeOf(netip.Addr{}):
		return ip.Addr, nil
	case reflect.TypeOf(""):
		return ip.Addr.String(), nil
	}
	return nil, fmt.Errorf("ipaddress: cannot convert to %v", typeDesc)
}

// ConvertToType implements ref.Val.
func (ip IPAddress) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.StringType:
		return types.String(ip.Addr.String())
	case types.TypeType:
		return ipAddressType
	case ipAddressType:
		return ip
	}
	return types.NewErr("ipaddress: no conversion to %s", t.TypeName())
}

// Equal implements ref.Val.
func (ip IPAddress) Equal(other ref.Val) ref.Val {
	o, ok := other.(IPAddress)
	return types.Bool(ok && o.Addr == ip.Addr)
}

// Type implements ref.Val.
func (IPAddress) Type() ref.Type { return ipAddressType }

// Value implements ref.Val.
func (ip IPAddress) Value() any { return ip.Addr }

func ipAddressFunctions() []cel.EnvOption {
	return []cel.EnvOption{
		cel.Function("ipaddress",
			cel.Overload("ipaddress_string", []*cel.Type{cel.StringType}, ipAddressType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					ip, err := ParseIPAddress(string(v.(types.String)))
					if err != nil {
						return types.NewErrFromString(err.Error())
					}
					return ip
				}))),
		cel.Function("in_cidr",
			cel.MemberOverload("ipaddress_in_cidr_string", []*cel.Type{ipAddressType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(lhs, rhs ref.Val) ref.Val {
					ip, ok := lhs.(IPAddress)
					if !ok {
						return types.MaybeNoSuchOverloadErr(lhs)
					}
					p, err := netip.ParsePrefix(string(rhs.(types.String)))
					if err != nil {
						return types.NewErr("in_cidr: not a CIDR block: %q", string(rhs.(types.String)))
					}
					return types.Bool(p.Masked().Contains(ip.Addr))
				}))),
	}
}
