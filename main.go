// Command kopscalico is the Pulumi program: a kops cluster on AWS with Calico
// in cross-subnet mode, and namespace isolation enforced by network policies.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/infra"
)

func main() {
	pulumi.Run(infra.Program)
}
