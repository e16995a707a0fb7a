package fakeaws

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Regions are the regions the fake lists; each has zones a to f.
var Regions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1", "ap-southeast-1", "ap-northeast-1"}

const zoneLetters = "abcdef"

// ec2Answer is the payload of the EC2 reads the fake knows; ok is false for
// the rest (they get an empty answer: the account has no such resources).
func ec2Answer(q *apiRequest) (string, bool) {
	switch q.action {
	case "DescribeRegions":
		var entries []string
		for _, r := range Regions {
			entries = append(entries, el("regionName", r)+el("regionEndpoint", "ec2."+r+".amazonaws.com")+el("optInStatus", "opt-in-not-required"))
		}
		return items("regionInfo", entries...), true
	case "DescribeAvailabilityZones":
		return items("availabilityZoneInfo", zones(q)...), true
	case "DescribeImages":
		return items("imagesSet", images(q)...), true
	case "DescribeReservedInstancesOfferings":
		return items("reservedInstancesOfferingsSet", offerings(q)...), true
	case "DescribeInstanceTypes":
		var entries []string
		for _, t := range indexed(q.params, "InstanceType") {
			entries = append(entries, instanceType(t))
		}
		return items("instanceTypeSet", entries...), true
	}
	return "", false
}

func zones(q *apiRequest) []string {
	want := map[string]bool{}
	for _, z := range indexed(q.params, "ZoneName") {
		want[z] = true
	}
	for _, z := range filters(q.params)["zone-name"] {
		want[z] = true
	}
	var out []string
	for i, l := range zoneLetters {
		name := q.region + string(l)
		if len(want) > 0 && !want[name] {
			continue
		}
		out = append(out, el("zoneName", name)+el("zoneState", "available")+el("regionName", q.region)+
			el("zoneId", q.region+"-az"+strconv.Itoa(i+1))+el("zoneType", "availability-zone")+
			el("optInStatus", "opt-in-not-required")+el("groupName", q.region)+el("networkBorderGroup", q.region)+"<messageSet/>")
	}
	return out
}

// imageID is a stable AMI id for an image name.
func imageID(name string) string {
	h := sha256.Sum256([]byte(name))
	return "ami-" + hex.EncodeToString(h[:])[:17]
}

// images answers a lookup by owner and name (how kops resolves
// "owner/name"): every named image exists, is public, x86_64 or arm64 as its
// name says, and boots from an 8 GiB gp3 volume.
func images(q *apiRequest) []string {
	owner := "099720109477"
	if o := indexed(q.params, "Owner"); len(o) > 0 {
		owner = o[0]
	}
	names := filters(q.params)["name"]
	if len(names) == 0 {
		return nil // by id: no image was ever registered in this account
	}
	var out []string
	for _, n := range names {
		arch := "x86_64"
		if strings.Contains(n, "arm64") || strings.Contains(n, "aarch64") {
			arch = "arm64"
		}
		out = append(out, el("imageId", imageID(n))+el("imageLocation", owner+"/"+escape(n))+el("imageState", "available")+
			el("imageOwnerId", owner)+el("creationDate", "2025-01-15T00:00:00.000Z")+el("isPublic", "true")+
			el("architecture", arch)+el("imageType", "machine")+el("name", escape(n))+
			el("rootDeviceType", "ebs")+el("rootDeviceName", "/dev/sda1")+el("virtualizationType", "hvm")+el("hypervisor", "xen")+
			el("enaSupport", "true")+el("sriovNetSupport", "simple")+el("bootMode", "uefi-preferred")+
			items("blockDeviceMapping", el("deviceName", "/dev/sda1")+
				el("ebs", el("snapshotId", "snap-0fakeaws")+el("volumeSize", "8")+el("deleteOnTermination", "true")+el("volumeType", "gp3")+el("encrypted", "false"))))
	}
	return out
}

// offerings offers the instance type asked about in every zone of the
// region: kops checks where a default machine type is sold with
// DescribeReservedInstancesOfferings (awsup zonesWithInstanceType).
func offerings(q *apiRequest) []string {
	t := q.params.Get("InstanceType")
	if t == "" {
		return nil
	}
	var out []string
	for _, l := range zoneLetters {
		zone := q.region + string(l)
		out = append(out, el("reservedInstancesOfferingId", "fakeaws-"+escape(t)+"-"+zone)+el("instanceType", escape(t))+
			el("availabilityZone", zone)+el("duration", "31536000")+el("instanceTenancy", "default")+
			el("productDescription", "Linux/UNIX (Amazon VPC)")+el("offeringClass", "standard")+el("offeringType", "No Upfront"))
	}
	return out
}

// instanceType describes any type as a small current-generation nitro
// instance (the sizes matter to kops only for defaults such as max pods).
func instanceType(t string) string {
	arch := "x86_64"
	if family := strings.SplitN(t, ".", 2)[0]; strings.HasSuffix(family, "g") || strings.Contains(family, "gd") {
		arch = "arm64"
	}
	return el("instanceType", escape(t)) + el("currentGeneration", "true") + el("bareMetal", "false") + el("hypervisor", "nitro") +
		el("freeTierEligible", "false") + el("burstablePerformanceSupported", "true") + el("instanceStorageSupported", "false") +
		items("supportedUsageClasses", "on-demand", "spot") + items("supportedRootDeviceTypes", "ebs") +
		items("supportedVirtualizationTypes", "hvm") + items("supportedBootModes", "legacy-bios", "uefi") +
		el("processorInfo", items("supportedArchitectures", arch)+el("sustainedClockSpeedInGhz", "2.5")) +
		el("vCpuInfo", el("defaultVCpus", "2")+el("defaultCores", "1")+el("defaultThreadsPerCore", "2")) +
		el("memoryInfo", el("sizeInMiB", "4096")) +
		el("ebsInfo", el("ebsOptimizedSupport", "default")+el("encryptionSupport", "supported")+el("nvmeSupport", "required")) +
		el("networkInfo", el("networkPerformance", "Up to 5 Gigabit")+el("maximumNetworkInterfaces", "3")+el("maximumNetworkCards", "1")+
			el("defaultNetworkCardIndex", "0")+
			items("networkCards", el("networkCardIndex", "0")+el("networkPerformance", "Up to 5 Gigabit")+el("maximumNetworkInterfaces", "3"))+
			el("ipv4AddressesPerInterface", "6")+el("ipv6AddressesPerInterface", "6")+el("ipv6Supported", "true")+
			el("enaSupport", "required")+el("efaSupported", "false")+el("encryptionInTransitSupported", "false")) +
		el("placementGroupInfo", items("supportedStrategies", "partition", "spread")) +
		el("hibernationSupported", "false") + el("dedicatedHostsSupported", "true") + el("autoRecoverySupported", "true")
}
